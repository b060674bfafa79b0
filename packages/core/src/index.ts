export { Proxy, createProxy, type CloseOptions, type ProxyStats } from './proxy';
export type { ProxyHandle } from './transfer';
export type { CacheOptions, RedisStoreOptions } from './cache/options';
export type { CacheStats } from './cache/http-cache';
export type { CacheStatus } from './cache/trace';
export { ProxyError, isProxyError, ERROR_STATUS, type ProxyErrorCode } from './errors';
export {
  DEFAULTS,
  type ErrorAnswer,
  type OnComplete,
  type OnError,
  type OnHeaders,
  type ProxyCallOptions,
  type ProxyMode,
  type ProxyOptions,
  type ProxyOutcome,
  type RequestBody,
  type ResponseHead,
  type TransferSettings,
} from './options';
export type { AllowOption } from './upstream/allow';
export { DEFAULT_KEEP_HEADERS, resolveOffloadRules, type OffloadRules } from './offload/rules';
export { hasOffloadInstruction, isOffloadHeader, type OffloadKind } from './offload/instruction';
export type { OffloadBody, OffloadRequest, OffloadResponse } from './offload/start';
