#pragma once
#include <napi.h>
namespace nsb {
void RegisterSyscalls(Napi::Env env, Napi::Object exports);
}
