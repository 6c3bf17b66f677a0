// The network functions of the addon (network.cc): rtnetlink and named namespaces.
#pragma once

#include <napi.h>

namespace nsb {

void RegisterNetwork(Napi::Env env, Napi::Object exports);

}  // namespace nsb
