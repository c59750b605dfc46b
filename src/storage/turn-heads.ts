// Set while a holder serves a request whose sender asked for tree heads on turn_end
// (storage/turn-checkpoints.ts). Its own module so that sharing a store does not load Ed25519.
import { AsyncLocalStorage } from 'node:async_hooks'

export const turnHeadsRequested = new AsyncLocalStorage<boolean>()
