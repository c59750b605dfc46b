// Set while a holder serves a request whose sender asked for tree heads on turn_end
// (storage/turn-checkpoints.ts). Its own module so that sharing a store does not load Ed25519.
import { platform } from '../platform/node.js'

export const turnHeadsRequested = platform.asyncContext<boolean>()
