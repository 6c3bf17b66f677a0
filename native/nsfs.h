#pragma once
#include <napi.h>
namespace nsb {
// Namespace files (nsfs): the NS_GET_* ioctls, their identity (inode/dev), pidfd_open.
void RegisterNsfs(Napi::Env env, Napi::Object exports);
}
