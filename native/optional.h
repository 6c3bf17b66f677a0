// probeClone(flags): can this process create these namespaces? (optional.cc, for
// `optional: true` namespaces, lib/optional.ts)
#pragma once
#include <napi.h>

void RegisterOptional(Napi::Env env, Napi::Object exports);
