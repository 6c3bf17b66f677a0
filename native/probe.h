#pragma once
#include <napi.h>
namespace nsb {
// Kernel feature probes for doctor(): harmless invalid calls, no namespace work.
void RegisterProbes(Napi::Env env, Napi::Object exports);
}
