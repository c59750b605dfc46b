// Bundles carry checkpoints (bundle version 3, docs/proofs.md section 7): an export from a store
// with a signing key puts a signed checkpoint of each session in the header, with a consistency
// proof where only a prefix is carried (a fork's source); verify and import check them against
// the carried entries, and the signatures with the keys given. Every tampering (an entry
// rewritten consistently, the root, the size, the signature, the proof) is a finding of its own
// and import writes nothing; after import the store proves entries against the carried
// checkpoint; bundles of versions 1 and 2 still import.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { BUNDLE_VERSION, verifyBundle, type BundleHeader, type BundleVerifyOptions } from '../../src/bundle/bundle.js'
import { decodeCanonical, encodeCanonical } from '../../src/encoding/cbor.js'
import { hashRecord, toHex } from '../../src/encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { parseChainlogCheckpoint } from '../../src/proofs/checkpoint.js'
import { checkCarriedCheckpoint, rootOfEntryHashes } from '../../src/proofs/carried.js'
import { generateKeyPair, parseNote, SIG_COSIGNATURE_V1 } from '../../src/proofs/note.js'
import { parseConsistencyProof, verifyProofFile } from '../../src/proofs/proof.js'
import { verifyConsistency } from '../../src/proofs/merkle.js'
import { encodeBase64, decodeBase64 } from '../../src/proofs/text.js'
import { Store } from '../../src/store.js'
import { exportToMemory, items, reseal } from '../support/bundle-bytes.js'
import { sha } from '../support/proofs.js'
import { dump } from '../support/rows.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000
eachEngine((_engine, memStore) => {

  const LOG = generateKeyPair('chainlog.test/bundles', { seed: sha('bundle checkpoint log key') })
  const OTHER = generateKeyPair('chainlog.test/bundles', { seed: sha('another key of the same name') })
  const WITNESS = generateKeyPair('chainlog.test/witness', { type: SIG_COSIGNATURE_V1, seed: sha('bundle witness key') })
  const KEYS = { keys: [LOG.verifierKey] }

  const A = 'sess-a'
  const F = 'fork-a'

  async function turns(store: Store, id: string, from: number, n: number): Promise<void> {
    for (let t = from; t < from + n; t++) {
      await store.appendTurn(id, [{ role: 'user', content: `${id} q${t}` }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `${id} a${t}` }] }], { ts: TS + t, turnEnd: true })
    }
  }

  /** A (16 entries, forked at seq 6: a bundle of F carries 7 of A's 16) and its fork F (7 entries). */
  async function world(options: { signingKey?: string } = { signingKey: LOG.signerKey }): Promise<Store> {
    const store = await memStore(options)
    await store.createSession({ sessionId: A, systemPrompt: 'be brief', config: { model: 'm' }, ts: TS })
    await turns(store, A, 0, 3)
    const a = await entriesOf(store, A)
    await store.forkAt(a[6]!.hash, { sessionId: F, ts: TS + 100 })
    await turns(store, F, 10, 2)
    await turns(store, A, 20, 2)
    return store
  }

  async function bundleOf(store: Store, id = F): Promise<Uint8Array> {
    return (await exportToMemory(store, id)).bytes
  }

  function headerOf(bytes: Uint8Array): BundleHeader {
    return decodeCanonical(items(bytes)[0]!, 1) as BundleHeader
  }

  /** The bundle with its header changed by `edit` (re-encoded, digest resealed). */
  function withHeader(bytes: Uint8Array, edit: (h: BundleHeader) => void): Uint8Array {
    const parts = items(bytes).slice(0, -1)
    const h = decodeCanonical(parts[0]!, 1) as BundleHeader
    edit(h)
    parts[0] = encodeCanonical(h, 1)
    return reseal(parts)
  }

  /** The checkpoint note of session `id` with its line `line` (0 origin, 1 size, 2 root) replaced. */
  function editLine(note: string, line: number, value: (old: string) => string): string {
    const lines = note.split('\n')
    lines[line] = value(lines[line]!)
    return lines.join('\n')
  }

  const session = (h: BundleHeader, id: string) => h.sessions.find((s) => s.sessionId === id)!

  /**
   * Rewrite one entry of the bundle consistently: change the text `from` to `to` (same length) in
   * the record of `id` at `seq`, then re-link every later record (its prev, and any hash it
   * names, such as a fork's atHash), move the header's heads, and reseal the digest. Only a
   * checkpoint can tell.
   */
  function rewriteEntry(bytes: Uint8Array, id: string, seq: number, from: string, to: string): Uint8Array {
    const parts: Uint8Array[] = items(bytes).slice(0, -1).map((p) => new Uint8Array(p))
    const h = decodeCanonical(parts[0]!, 1) as BundleHeader
    const renamed = new Map<string, string>()
    const swap = (rec: Uint8Array) => {
      let buf = Buffer.from(rec)
      for (const [o, n] of renamed) {
        const prev = buf.subarray(0, 32)
        if (toHex(prev) === o) Buffer.from(n, 'hex').copy(buf, 0)
        buf = Buffer.from(buf.toString('latin1').split(o).join(n), 'latin1')
      }
      return new Uint8Array(buf)
    }
    let i = 1
    for (const s of h.sessions) {
      for (let q = 0; q < s.length; q++, i++) {
        const old = toHex(hashRecord(parts[i]!))
        let rec = swap(parts[i]!)
        if (s.sessionId === id && q === seq) {
          const text = Buffer.from(rec).toString('latin1')
          expect(text).toContain(from)
          rec = new Uint8Array(Buffer.from(text.replace(from, to), 'latin1'))
        }
        parts[i] = rec
        const now = toHex(hashRecord(rec))
        if (now !== old) renamed.set(old, now)
      }
      s.head = renamed.get(s.head) ?? s.head
    }
    parts[0] = encodeCanonical(h, 1)
    return reseal(parts)
  }

  async function refused(store: Store, bytes: Uint8Array, options?: { keys: string[] }): Promise<string[]> {
    const before = await dump(store)
    let err: unknown
    try {
      await store.importBundle(bytes, options)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(ErrorCodes.INVALID_BUNDLE)
    expect(await dump(store)).toEqual(before)
    return ((err as ChainlogError).data.findings as { code: string }[]).map((f) => f.code)
  }

  async function codes(bytes: Uint8Array, options?: BundleVerifyOptions): Promise<string[]> {
    return (await verifyBundle(bytes, options)).findings.map((f) => f.code)
  }

  describe('export from a store with a signing key', () => {
    it('every session carries a checkpoint of the store now; a fork source carries a consistency proof from its fork point', async () => {
      const src = await world()
      const bytes = await bundleOf(src)
      const h = headerOf(bytes)
      expect(h.version).toBe(BUNDLE_VERSION)
      expect(BUNDLE_VERSION).toBe(3)
      const a = session(h, A)
      const f = session(h, F)
      expect(a.length).toBe(7)
      const aCp = parseChainlogCheckpoint(parseNote(a.checkpoint!).text)
      expect(aCp).toMatchObject({ origin: `${LOG.name}/${A}`, size: 16, head: await src.head(A) })
      expect(toHex(aCp.root)).toBe(toHex((await src.treeHead(A)).root))
      expect(parseConsistencyProof(a.consistency!).oldSize).toBe(7)
      const fCp = parseChainlogCheckpoint(parseNote(f.checkpoint!).text)
      expect(fCp).toMatchObject({ origin: `${LOG.name}/${F}`, size: f.length, head: f.head })
      expect(f.consistency).toBeUndefined()

      const report = await verifyBundle(bytes, KEYS)
      expect(report.findings).toEqual([])
      expect(report.checkpoints).toEqual([
        { sessionId: A, length: 7, size: 16, status: 'consistent', signed: true, checkpoint: a.checkpoint },
        { sessionId: F, length: f.length, size: f.length, status: 'consistent', signed: true, checkpoint: f.checkpoint },
      ])
      // Without keys: checked against the entries, not signed.
      expect((await verifyBundle(bytes)).checkpoints!.map((c) => [c.status, c.signed])).toEqual([
        ['consistent', false],
        ['consistent', false],
      ])
    })

    it('the key can be given to the export instead of the store; without any key there are no checkpoints', async () => {
      const src = await world({})
      const plain = await bundleOf(src)
      expect(headerOf(plain).sessions.every((s) => s.checkpoint === undefined)).toBe(true)
      expect((await verifyBundle(plain)).checkpoints).toBeUndefined()
      const signed = (await exportToMemory(src, F, { signingKey: LOG.signerKey })).bytes
      expect((await verifyBundle(signed, KEYS)).ok).toBe(true)
      await expect(exportToMemory(src, F, { signingKey: WITNESS.signerKey })).rejects.toMatchObject({ code: ErrorCodes.INVALID_KEY })
    })

    it('JSONL exports carry the checkpoints in their header line', async () => {
      const src = await world()
      const { bytes } = await exportToMemory(src, F, { format: 'jsonl' })
      const header = JSON.parse(Buffer.from(bytes).toString('utf8').split('\n')[0]!) as BundleHeader
      expect(header.sessions.map((s) => s.checkpoint !== undefined)).toEqual([true, true])
      expect(header.sessions[0]!.consistency).toMatch(/^old 7\n/)
    })
  })

  describe('round trip', () => {
    it('import with keys; the store proves entries against the carried checkpoint, and its prefix of the source is consistent with it', async () => {
      const src = await world()
      const bytes = await bundleOf(src)
      const dst = await memStore()
      const result = await dst.importBundle(bytes, KEYS)
      expect(result.report.ok).toBe(true)
      const byId = new Map(result.sessions.map((s) => [s.sessionId, s]))
      const fNote = byId.get(F)!.checkpoint!
      expect(fNote).toBe(session(headerOf(bytes), F).checkpoint)

      // Every entry of the fork: an inclusion proof from the importing store (no signing key
      // there) against the carried checkpoint, checked offline with the verifier key.
      for (const e of await entriesOf(dst, F)) {
        const proof = await dst.prove(e.hash, { checkpoint: fNote })
        expect(verifyProofFile(proof, [LOG.verifierKey], { entryHash: e.hash, sessionId: F }).index).toBe(e.seq)
      }
      expect((await dst.verify({ sessionId: F, checkpoint: fNote, keys: [LOG.verifierKey] })).checkpoint?.status).toBe('consistent')

      // The source's prefix: the importing store's root at 7 leads to the signed root of 16.
      const aNote = byId.get(A)!.checkpoint!
      const aCp = parseChainlogCheckpoint(parseNote(aNote).text)
      const proof = parseConsistencyProof(session(headerOf(bytes), A).consistency!)
      const th = await dst.treeHead(A)
      expect(th.size).toBe(7)
      expect(verifyConsistency(7, aCp.size, th.root, aCp.root, proof.proof)).toBe(true)

      // Importing again adds nothing and still returns the checkpoints.
      const again = await dst.importBundle(bytes, KEYS)
      expect(again.entriesAdded).toBe(0)
      expect(again.sessions.map((s) => s.checkpoint !== undefined)).toEqual([true, true])
    })

    it('a whole session (no fork): the checkpoint is of exactly the carried entries', async () => {
      const src = await world()
      const bytes = await bundleOf(src, A)
      const h = headerOf(bytes)
      expect(h.sessions).toHaveLength(1)
      expect(h.sessions[0]!.consistency).toBeUndefined()
      const dst = await memStore()
      const r = await dst.importBundle(bytes, KEYS)
      const last = (await entriesOf(dst, A)).at(-1)!
      expect(verifyProofFile(await dst.prove(last.hash, { checkpoint: r.sessions[0]!.checkpoint! }), [LOG.verifierKey]).index).toBe(15)
    })
  })

  describe('tampering is found, with a code of its own, and import writes nothing', () => {
    it('an entry rewritten consistently (chain, heads and digest made to match)', async () => {
      const bytes = await bundleOf(await world())
      // In the fork: its checkpoint is of exactly the carried entries.
      const inFork = rewriteEntry(bytes, F, 1, `${F} q10`, `${F} Q10`)
      expect(await codes(inFork)).toEqual(['checkpoint_fork'])
      expect(await codes(inFork, KEYS)).toEqual(['checkpoint_fork'])
      expect(await refused(await memStore(), inFork, KEYS)).toEqual(['checkpoint_fork'])
      // In the source's prefix (the fork's genesis follows the new fork point): the consistency proof fails.
      const inSource = rewriteEntry(bytes, A, 2, `${A} a0`, `${A} A0`)
      expect(await codes(inSource)).toEqual(['checkpoint_inconsistent', 'checkpoint_fork'])
      expect(await refused(await memStore(), inSource)).toEqual(['checkpoint_inconsistent', 'checkpoint_fork'])
    })

    it('the root changed', async () => {
      const bytes = await bundleOf(await world())
      const otherRoot = encodeBase64(sha('another root'))
      const fork = withHeader(bytes, (h) => (session(h, F).checkpoint = editLine(session(h, F).checkpoint!, 2, () => otherRoot)))
      expect(await codes(fork)).toEqual(['checkpoint_fork'])
      expect(await codes(fork, KEYS)).toEqual(['checkpoint_signature'])
      expect(await refused(await memStore(), fork)).toEqual(['checkpoint_fork'])
      const source = withHeader(bytes, (h) => (session(h, A).checkpoint = editLine(session(h, A).checkpoint!, 2, () => otherRoot)))
      expect(await codes(source)).toEqual(['checkpoint_inconsistent'])
      expect(await refused(await memStore(), source, KEYS)).toEqual(['checkpoint_signature'])
    })

    it('the size changed', async () => {
      const bytes = await bundleOf(await world())
      const smaller = withHeader(bytes, (h) => (session(h, F).checkpoint = editLine(session(h, F).checkpoint!, 1, (n) => String(Number(n) - 1))))
      expect(await codes(smaller)).toEqual(['checkpoint_rewrite'])
      expect(await codes(smaller, KEYS)).toEqual(['checkpoint_signature'])
      expect(await refused(await memStore(), smaller)).toEqual(['checkpoint_rewrite'])
      const larger = withHeader(bytes, (h) => (session(h, A).checkpoint = editLine(session(h, A).checkpoint!, 1, (n) => String(Number(n) + 1))))
      expect(await codes(larger)).toEqual(['checkpoint_inconsistent'])
      // A checkpoint of the fork grown past what is carried, without a proof.
      const grown = withHeader(bytes, (h) => (session(h, F).checkpoint = editLine(session(h, F).checkpoint!, 1, (n) => String(Number(n) + 1))))
      expect(await codes(grown)).toEqual(['checkpoint_invalid'])
      expect(await refused(await memStore(), grown)).toEqual(['checkpoint_invalid'])
    })

    it('the signature changed, or made by another key: found with the keys', async () => {
      const src = await world()
      const bytes = await bundleOf(src)
      const flipped = withHeader(bytes, (h) => {
        const note = session(h, F).checkpoint!
        const i = note.lastIndexOf(' ') + 10
        session(h, F).checkpoint = note.slice(0, i) + (note[i] === 'A' ? 'B' : 'A') + note.slice(i + 1)
      })
      expect(await codes(flipped)).toEqual([]) // without keys the signature is not checked
      expect(await codes(flipped, KEYS)).toEqual(['checkpoint_signature'])
      expect(await refused(await memStore(), flipped, KEYS)).toEqual(['checkpoint_signature'])
      const other = (await exportToMemory(src, F, { signingKey: OTHER.signerKey })).bytes
      expect(await codes(other)).toEqual([])
      expect(await codes(other, KEYS)).toEqual(['checkpoint_signature', 'checkpoint_signature'])
      expect((await verifyBundle(other, { keys: [OTHER.verifierKey] })).ok).toBe(true)
    })

    it('the consistency proof changed, cut, moved or dropped', async () => {
      const bytes = await bundleOf(await world())
      const proofEdit = (edit: (lines: string[]) => void) =>
        withHeader(bytes, (h) => {
          const lines = session(h, A).consistency!.split('\n')
          edit(lines)
          session(h, A).consistency = lines.join('\n')
        })
      const flipped = proofEdit((l) => {
        const b = decodeBase64(l[1]!)!
        b[0]! ^= 1
        l[1] = encodeBase64(b)
      })
      expect(await codes(flipped)).toEqual(['checkpoint_inconsistent'])
      expect(await refused(await memStore(), flipped, KEYS)).toEqual(['checkpoint_inconsistent'])
      expect(await codes(proofEdit((l) => l.splice(1, 1)))).toEqual(['checkpoint_inconsistent'])
      expect(await codes(proofEdit((l) => (l[0] = 'old 6')))).toEqual(['checkpoint_invalid'])
      expect(await codes(proofEdit((l) => (l[1] = 'not base64!')))).toEqual(['checkpoint_invalid'])
      const dropped = withHeader(bytes, (h) => delete session(h, A).consistency)
      expect(await refused(await memStore(), dropped)).toEqual(['checkpoint_invalid'])
      // A proof where none is needed.
      const extra = withHeader(bytes, (h) => (session(h, F).consistency = session(h, A).consistency))
      expect(await codes(extra)).toEqual(['checkpoint_invalid'])
    })

    it("a checkpoint of another session, and a checkpoint that is not one", async () => {
      const bytes = await bundleOf(await world())
      const swapped = withHeader(bytes, (h) => {
        const [a, f] = [session(h, A), session(h, F)]
        ;[a.checkpoint, f.checkpoint] = [f.checkpoint, a.checkpoint]
      })
      expect(await codes(swapped)).toEqual(['checkpoint_invalid', 'checkpoint_invalid'])
      expect(await codes(swapped, KEYS)).toEqual(['checkpoint_invalid', 'checkpoint_invalid'])
      const garbage = withHeader(bytes, (h) => (session(h, F).checkpoint = 'not a note\n'))
      expect(await refused(await memStore(), garbage)).toEqual(['checkpoint_invalid'])
    })

    it('header fields out of place are bundle_malformed', async () => {
      const bytes = await bundleOf(await world())
      expect(await codes(withHeader(bytes, (h) => (h.version = 2)))).toEqual(['bundle_malformed'])
      expect(await codes(withHeader(bytes, (h) => delete session(h, A).checkpoint))).toEqual(['bundle_malformed'])
      expect(await codes(withHeader(bytes, (h) => ((session(h, F) as { checkpoint: unknown }).checkpoint = 7)))).toEqual(['bundle_malformed'])
    })
  })

  describe('keys and bundles without checkpoints', () => {
    it('with keys, a session without a checkpoint is checkpoint_missing; without keys it imports', async () => {
      const plain = await bundleOf(await world({}))
      expect(await codes(plain)).toEqual([])
      expect(await codes(plain, KEYS)).toEqual(['checkpoint_missing', 'checkpoint_missing'])
      expect(await refused(await memStore(), plain, KEYS)).toEqual(['checkpoint_missing', 'checkpoint_missing'])
      expect((await (await memStore()).importBundle(plain)).entriesAdded).toBeGreaterThan(0)
    })

    it('a witness key given as a log key is CHAINLOG_INVALID_KEY, before the bundle is read', async () => {
      await expect(verifyBundle(new Uint8Array(), { keys: [WITNESS.verifierKey] })).rejects.toMatchObject({ code: ErrorCodes.INVALID_KEY })
      await expect(verifyBundle(new Uint8Array(), { keys: [LOG.verifierKey], witnesses: [LOG.verifierKey] })).rejects.toMatchObject({ code: ErrorCodes.INVALID_KEY })
    })

    it('witnesses and a quorum: a checkpoint without the cosignature is checkpoint_signature', async () => {
      const bytes = await bundleOf(await world())
      expect(await codes(bytes, { ...KEYS, witnesses: [WITNESS.verifierKey] })).toEqual(['checkpoint_signature', 'checkpoint_signature'])
    })

    for (const [label, version] of [
      ['v1', 1],
      ['v2', 2],
    ] as const) {
      it(`the version-${version} fixture bundle still verifies and imports; with keys it has no checkpoints to check`, async () => {
        const bytes = new Uint8Array(await readFile(new URL(`../../fixtures/stores/${label}-fork.bundle`, import.meta.url)))
        expect(headerOf(bytes).version).toBe(version)
        const report = await verifyBundle(bytes)
        expect(report.ok).toBe(true)
        expect(report.checkpoints).toBeUndefined()
        const store = await memStore()
        expect((await store.importBundle(bytes)).entriesAdded).toBeGreaterThan(0)
        expect(await refused(await memStore(), bytes, KEYS)).toEqual(expect.arrayContaining(['checkpoint_missing']))
      })
    }
  })

  describe('checkCarriedCheckpoint (pure)', () => {
    it('rootOfEntryHashes is the MTH of the proof vectors, at every size', async () => {
      const v = JSON.parse(await readFile(new URL('../../fixtures/proofs/vectors.json', import.meta.url), 'utf8')) as { entryHashes: { hex: string[] }; roots: { vectors: { size: number; root: string }[] } }
      const hashes = v.entryHashes.hex.map((h) => new Uint8Array(Buffer.from(h, 'hex')))
      for (const { size, root } of v.roots.vectors) expect(encodeBase64(rootOfEntryHashes(hashes.slice(0, size))), `size ${size}`).toBe(root)
    })

    it('checks a checkpoint smaller than, equal to and larger than what is carried', async () => {
      const src = await world()
      const hashes = (await entriesOf(src, A)).map((e) => Buffer.from(e.hash, 'hex'))
      const at5 = await src.checkpoint(A, { size: 5 })
      expect(checkCarriedCheckpoint({ sessionId: A, entryHashes: hashes, checkpoint: at5 }, KEYS)).toMatchObject({ ok: true, signed: true, logName: LOG.name })
      expect(checkCarriedCheckpoint({ sessionId: A, entryHashes: hashes.slice(0, 5), checkpoint: at5 })).toMatchObject({ ok: true, signed: false })
      expect(checkCarriedCheckpoint({ sessionId: F, entryHashes: hashes, checkpoint: at5 })).toMatchObject({ ok: false, code: 'checkpoint_invalid' })
      const swapped = [...hashes]
      ;[swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!]
      expect(checkCarriedCheckpoint({ sessionId: A, entryHashes: swapped, checkpoint: at5 })).toMatchObject({ ok: false, code: 'checkpoint_rewrite' })
    })
  })
})
