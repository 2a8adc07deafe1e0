{
  "targets": [
    {
      "target_name": "rdmajs",
      "sources": [
        "src/addon.cc",
        "src/context.cc",
        "src/async_events.cc",
        "src/protection_domain.cc",
        "src/memory_region.cc",
        "src/completion_channel.cc",
        "src/completion_queue.cc",
        "src/queue_pair.cc",
        "src/shared_receive_queue.cc",
        "src/address_handle.cc",
        "src/memory_window.cc",
        "src/cm_event_channel.cc",
        "src/cm_id.cc",
        "src/descriptors.cc",
        "src/layouts.cc",
        "src/work_tracker.cc",
        "src/util/args.cc",
        "src/util/errors.cc",
        "src/util/fd_watcher.cc",
        "src/util/gid.cc",
        "src/util/resource.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-libverbs", "-lrdmacm"]
    }
  ]
}
