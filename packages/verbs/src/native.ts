/**
 * Loads the native addon (`@rdmajs/native`, whose index.d.ts declares it).
 * Internal: users import the classes in this package, which wrap these with
 * checks and idiomatic names. Enum-valued fields are the raw `ibv_*` numbers.
 * @internal
 * @module
 */
import { createRequire } from 'node:module';

import type { NativeAddon } from '@rdmajs/native';

import { RdmaError } from './errors.js';

export type {
  NativeResource,
  NativeContext,
  NativeProtectionDomain,
  NativeMemoryRegion,
  NativeCompletionChannel,
  NativeCompletionQueue,
  NativeQpCap,
  NativeQueuePair,
  NativeSharedReceiveQueue,
  NativeAddressHandle,
  NativeMemoryWindow,
  NativeCmEvent,
  NativeCmEventChannel,
  NativeCmAddress,
  NativeCmId,
  NativeConstants,
  NativeAddon,
} from '@rdmajs/native';

const require = createRequire(import.meta.url);

/** @internal The loaded addon, with RdmaError installed as its error class. */
export const native: NativeAddon = require('@rdmajs/native') as NativeAddon;
native.setErrorClass(RdmaError);
