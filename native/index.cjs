'use strict';
// Loads the addon: this checkout's own build (build/Release) when there is one,
// else the prebuilt binary shipped in prebuilds/<platform>-<arch>/ (picked by
// node-gyp-build). CommonJS so that ESM and CJS consumers can both require it.
// A failure becomes one error that says what to install or run.

function loadError(cause) {
  const why = String(cause && cause.message);
  const lib = /lib(ibverbs|rdmacm)\.so[.\d]*/.exec(why);
  let advice;
  if (lib) {
    const pkg = lib[1] === 'ibverbs' ? 'libibverbs1' : 'librdmacm1';
    advice =
      `the system library ${lib[0]} is missing: install rdma-core's user space ` +
      `(Debian/Ubuntu: apt-get install ${pkg} ibverbs-providers; Fedora/RHEL: dnf install libibverbs librdmacm).`;
  } else if (/GLIBC|GLIBCXX|CXXABI|IBVERBS_|RDMACM_/.test(why)) {
    advice =
      'the prebuilt binary needs newer system libraries than this host has (glibc >= 2.32, rdma-core >= 32): ' +
      'build it from source with `npm rebuild @rdmajs/native --build-from-source` ' +
      '(needs g++, make, python3, libibverbs-dev and librdmacm-dev).';
  } else if (/No native build was found/.test(why)) {
    advice =
      `no prebuilt binary fits ${process.platform}-${process.arch} and none was built here: ` +
      'run `npm rebuild @rdmajs/native` (builds from source; needs g++, make, python3, ' +
      'libibverbs-dev and librdmacm-dev; prebuilt binaries ship for linux-x64 only).';
  } else {
    advice = 'run `npm rebuild @rdmajs/native --build-from-source` to build it for this host.';
  }
  const err = new Error(`@rdmajs/native: cannot load the RDMA addon: ${advice}\n  cause: ${why.split('\n')[0]}`);
  err.code = 'ERR_RDMAJS_NATIVE';
  err.cause = cause;
  return err;
}

try {
  module.exports = require('node-gyp-build')(__dirname);
} catch (cause) {
  throw loadError(cause);
}
