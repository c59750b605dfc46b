// Strict readers for the pieces the text formats of docs/proofs.md share: standard base64
// (RFC 4648, section 4, padded, canonical) and decimal sizes without leading zeros.
import { fromBase64, toBase64 } from '../encoding/bytes.js'

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Standard padded base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  return toBase64(bytes)
}

/**
 * The bytes of standard, padded base64 text, or undefined when the text is anything else
 * (other alphabets, missing padding, whitespace, or unused bits that are not zero, so every
 * byte string has exactly one accepted encoding).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!B64.test(text)) return undefined
  const bytes = fromBase64(text)
  return encodeBase64(bytes) === text ? bytes : undefined
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/

/** A decimal integer from 0 to 2^53-1 with no sign and no leading zeros, or undefined. */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text) || text.length > 16) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}

/** The lines of `text`, which must end with a newline (the final empty piece is dropped); undefined otherwise. */
export function splitLines(text: string): string[] | undefined {
  if (!text.endsWith('\n')) return undefined
  return text.slice(0, -1).split('\n')
}
