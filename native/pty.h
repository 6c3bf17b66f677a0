#pragma once
#include <napi.h>
namespace nsb {
void RegisterPty(Napi::Env env, Napi::Object exports);
}
