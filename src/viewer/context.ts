// What every route handler gets: the open store and the server's settings.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ChainlogStore } from '../index.js'

export interface ViewerContext {
  store: ChainlogStore
  /** The store's directory, shown in the page header (absent for a store opened on a db). */
  storeDir: string | undefined
  /** How often live streams look at a session's head. */
  pollMs: number
  /** The largest bundle an import accepts. */
  maxImportBytes: number
}

export interface RouteRequest {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** The path's captured parts, URL-decoded. */
  params: string[]
  ctx: ViewerContext
}

export type Handler = (r: RouteRequest) => Promise<void>
