// The public surface of @handoff/core, chosen on purpose: everything else is internal.
export { HandoffProxy, createProxy } from './proxy';
export { ProxyError, isProxyError, ERROR_STATUS, type ProxyErrorCode } from './errors';
export { DEFAULTS } from './options/defaults';
export type {
  CacheStats,
  CloseOptions,
  GateStats,
  DeferredRequest,
  ErrorAnswer,
  ForwardHeaders,
  LaterOptions,
  MinDataRate,
  OnComplete,
  OnError,
  OnHeaders,
  ProxyCallOptions,
  ProxyHandle,
  ProxyMode,
  ProxyOptions,
  ProxyOutcome,
  ProxyStats,
  RequestBody,
  RequestQueue,
  ResponseHead,
  TransferSettings,
} from './types';
export type { CacheOptions, RedisStoreOptions } from './cache/options';
export type { SharedGateOptions } from './gate/options';
export type { CacheStatus } from './cache/trace';
export type { AllowOption } from './upstream/allow';
export { DEFAULT_KEEP_HEADERS, hasDotSegment, isAccelBase, isAccelPrefix, validateOffloadRules, type OffloadKind, type OffloadRules } from './offload/rules';
export { hasOffloadInstruction } from './offload/instruction';
export { removeInstructionHeaders, takeHandlerHeaders } from './offload/handler-headers';
export type { OffloadBody, OffloadRequest, OffloadResponse } from './offload/start';
// For adapters and the sidecar: the rules they would otherwise copy.
export { isFieldValue, isOriginForm, isToken } from './http/syntax';
export { addConnectionTokens, isHopByHop, isOffloadHeader } from './http/fields';
export { dropRequestHeaders, stripInstructionHeaders } from './headers/request-headers';
export { declaredTooLarge, hasRequestBody, isBodyRead } from './upstream/request-body';
export { toProxyError } from './errors';
export { UploadRate } from './upstream/upload-rate';
export { refuse } from './transfer/answer';
export { expectContinue } from './continue';
export { callOptions, offloadEngine, withProxy, type OffloadEngine, type OffloadOptions, type ProxyFetch, type WithProxy } from './adapter';
export { MAX_DELAY } from './options/values';
