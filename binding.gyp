{
  "targets": [
    {
      # PID 1 of a sandbox: freestanding and static (no libc, a few KiB), exec'd by fd.
      "target_name": "nsbind-init",
      "type": "executable",
      "sources": ["native/init/init.cc"],
      "cflags!": ["-fno-omit-frame-pointer", "-pthread"],
      "cflags_cc!": ["-fno-rtti", "-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O2", "-ffreestanding", "-fno-builtin", "-fno-stack-protector",
                 "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables", "-fno-pie"],
      "ldflags!": ["-pthread", "-rdynamic"],
      "ldflags": ["-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-s"],
      "libraries!": ["-lpthread"]
    },
    {
      "target_name": "nsbind",
      "dependencies": ["nsbind-init"],
      "sources": [
        "native/addon.cc",
        "native/spawn.cc",
        "native/spawn_threads.cc",
        "native/child.cc",
        "native/fs.cc",
        "native/fs_layout.cc",
        "native/clone.cc",
        "native/syscalls.cc",
        "native/security.cc",
        "native/helper.cc",
        "native/netlink.cc",
        "native/netns.cc",
        "native/network.cc",
        "native/veth.cc",
        "native/nsfs.cc",
        "native/probe.cc",
        "native/optional.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=gnu++17", "-fno-exceptions", "-Wall", "-Wno-missing-field-initializers"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
