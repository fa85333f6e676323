/** The web view: server, store and the pieces tests and other commands use. */
export {
  createApp,
  DEFAULT_UPLOAD_LIMIT,
  type AppDeps,
  type WebApp,
  type StartCapture,
  type LiveCaptureRequest,
  type LiveCaptureHandle,
} from './app.js';
export { HttpError, WEB_ERROR_STATUS, type WebErrorCode } from './errors.js';
export { startServer, type RunningServer, type ServeOptions } from './server.js';
export { CaptureStore, type StoredCapture, type StoredNode, type StoreOptions, type CaptureSummary } from './store.js';
export { buildCaptureIndex, readRecords, type CaptureIndex } from './capture-index.js';
export { sessionFromArgs, sessionFromDir, type SessionSpec, type CaptureFileSpec, type NodeSpec } from './session.js';
export { parseFilter, filterIndex, FILTER_HELP } from './filter.js';
export { innerFrame, writeInnerPcap, writePacketsNdjson } from './downloads.js';
export { TOKEN_HEADER, newToken } from './security.js';
export { writeSampleSession, SAMPLE } from './sample.js';
