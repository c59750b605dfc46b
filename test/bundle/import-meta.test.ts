// What `ls` and `tree` show for an imported session must match the source store (issue 18,
// item 7): the first user message survives import even when it was stored as a blob.
import { describe, expect, it } from 'vitest'
import type { Store } from '../../src/index.js'
import { eachEngine } from '../support/engines.js'

async function exportBytes(store: Store, sessionId: string): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  const { Writable } = await import('node:stream')
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(Buffer.from(c))
      cb()
    },
  })
  await store.exportSession(sessionId, sink)
  return new Uint8Array(Buffer.concat(chunks))
}

eachEngine((_engine, open) => {
  describe('import keeps the session metadata', () => {
    it('a short first user message (inline) survives import', async () => {
      const a = await open()
      const b = await open()
      const { sessionId, head } = await a.createSession({ ts: 1 })
      await a.appendTurn(sessionId, [{ role: 'user', content: 'short question' }], { expectedHead: head, ts: 2 })
      await b.importBundle(await exportBytes(a, sessionId))
      expect((await b.listSessions())[0]!.firstUserMessage).toBe('short question')
      await a.close()
      await b.close()
    })

    it('a first user message over the blob threshold (stored as a blob) survives import', async () => {
      const a = await open()
      const b = await open()
      const long = `please read this: ${'lorem ipsum '.repeat(600)}`
      const { sessionId, head } = await a.createSession({ ts: 1 })
      await a.appendTurn(sessionId, [{ role: 'user', content: long }], { expectedHead: head, ts: 2 })
      const first = (await a.listSessions())[0]!.firstUserMessage
      expect(first).toMatch(/^please read this: lorem ipsum/) // (kept cut short in the metadata)
      await b.importBundle(await exportBytes(a, sessionId))
      try {
        expect((await b.listSessions())[0]!.firstUserMessage).toBe(first)
      } finally {
        await a.close()
        await b.close()
      }
    })
  })
})
