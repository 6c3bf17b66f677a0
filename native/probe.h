// probeClone(flags): can this process create these namespaces? (probe.cc)
#pragma once
#include <napi.h>

void RegisterProbe(Napi::Env env, Napi::Object exports);
