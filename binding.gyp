{
  "targets": [
    {
      # Everything that runs between clone and exec, and in nsbind-init: the plan
      # interpreter and its ops, the setup child, the clone trampolines (native/interp.h).
      # Freestanding, with hidden symbols: no libc call, no PLT entry, nothing the dynamic
      # linker binds lazily, whichever process runs it. Linked into the addon and, whole,
      # into the -nostdlib static init, whose link fails on any symbol from outside.
      "target_name": "nsbind-child",
      "type": "static_library",
      "sources": [
        "native/interp.cc",
        "native/child.cc",
        "native/fs.cc",
        "native/fs_remount.cc",
        "native/security_ops.cc",
        "native/landlock.cc",
        "native/lock_file.cc",
        "native/egress_child.cc",
        "native/clone.cc"
      ],
      "cflags!": ["-fno-omit-frame-pointer", "-pthread"],
      "cflags_cc!": ["-fno-rtti", "-fno-exceptions"],
      "cflags": ["-ffreestanding", "-fno-builtin", "-fno-stack-protector", "-fvisibility=hidden",
                 "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables",
                 "-fno-tree-loop-distribute-patterns", "-Wall",
                 "-Wno-missing-field-initializers"]
    },
    {
      # PID 1 of a sandbox, and the process that runs a setup in memory of its own:
      # freestanding and static (no libc, a few pages), exec'd by fd.
      "target_name": "nsbind-init",
      "type": "executable",
      "dependencies": ["nsbind-child"],
      "sources": ["native/init/init.cc", "native/init/supervise.cc"],
      "cflags!": ["-fno-omit-frame-pointer", "-pthread"],
      "cflags_cc!": ["-fno-rtti", "-fno-exceptions"],
      "cflags": ["-O2", "-ffreestanding", "-fno-builtin", "-fno-stack-protector", "-fvisibility=hidden",
                 "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables",
                 "-fno-tree-loop-distribute-patterns", "-fno-pie"],
      "ldflags!": ["-pthread", "-rdynamic"],
      "ldflags": ["-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-s", "-Wl,--whole-archive"],
      "libraries!": ["-lpthread"],
      "libraries": ["-Wl,--no-whole-archive"]
    },
    {
      "target_name": "nsbind",
      "dependencies": ["nsbind-child", "nsbind-init"],
      "sources": [
        "native/addon.cc",
        "native/spawn.cc",
        "native/spawn_threads.cc",
        "native/setup_window.cc",
        "native/fs_layout.cc",
        "native/idmap.cc",
        "native/audit.cc",
        "native/syscalls.cc",
        "native/security.cc",
        "native/helper.cc",
        "native/netlink.cc",
        "native/netns.cc",
        "native/network.cc",
        "native/veth.cc",
        "native/egress.cc",
        "native/nsfs.cc",
        "native/probe.cc",
        "native/optional.cc",
        "native/pty.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=gnu++17", "-fno-exceptions", "-Wall", "-Wno-missing-field-initializers"],
      "cflags!": ["-fno-exceptions"],
      # Every symbol bound when the addon loads: a child that shares our memory never
      # finds a lazy binding to resolve (and the GOT is read-only after that).
      "ldflags": ["-Wl,-z,now", "-Wl,-z,relro"]
    }
  ]
}
