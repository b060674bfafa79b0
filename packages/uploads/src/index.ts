// The public surface of @handoff/uploads, chosen on purpose: everything else is internal.
export { receiveUpload, isMultipartForm, dispositionName } from './receive';
export { localStore, removeStoredFiles } from './local-store';
export { UPLOAD_DEFAULTS, resolveLimits, resolveTarget, type ResolvedLimits } from './options';
export type {
  FileInfo,
  LocalTarget,
  MultipartTarget,
  ReceiveOptions,
  ReceivedUpload,
  RemoteTarget,
  UploadLimits,
  UploadStore,
  UploadTarget,
  UploadedFile,
} from './types';
