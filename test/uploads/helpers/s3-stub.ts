import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { listen, type Running } from '../../helpers/servers';

/** What the stub does with one request instead of answering it normally. */
export type Fault = 'forbidden' | 'unavailable' | 'stall' | 'reset' | 'wrong-etag' | 'error-in-200' | 'early' | 'early-no-etag';

/** After how many bytes of a PUT or UploadPart body the `early` faults answer 200 (and read no more). */
export const EARLY_AFTER = 128 * 1024;

export interface StubRequest {
  method: string;
  key: string;
  /** 'object', 'part', 'complete', 'abort', 'delete', 'list'. */
  kind: string;
  partNumber?: number;
}

export interface S3Stub extends Running {
  /** Objects stored whole, by key. */
  objects: Map<string, Buffer>;
  /** Uploads created and neither completed nor aborted, by id: ListMultipartUploads. */
  open: Map<string, { key: string; parts: Map<number, Buffer> }>;
  /** Upload ids aborted, in order. */
  aborted: string[];
  /** Every request, in order. */
  requests: StubRequest[];
  /** Most UploadPart requests in progress at once. */
  maxPartsInFlight: number;
  /** Decides a fault per request (default: none). */
  fault: (req: StubRequest) => Fault | undefined;
  /** Creates a multipart upload and returns its target, every URL signed `good`. */
  multipart(key: string, partSize: number, parts: number): { remote: { id: string; deleteUrl: string; multipart: { partSize: number; partUrls: string[]; completeUrl: string; abortUrl: string } } };
  /** A presigned PUT target for `key`; `signature: 'bad'` makes the stub refuse it (403, as S3 does a tampered URL). */
  put(key: string, signature?: string): { remote: { id: string; putUrl: string; deleteUrl: string } };
  /** GET ?uploads: the ListMultipartUploads answer, as XML. */
  listUploads(): Promise<string>;
}

const md5 = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;

/**
 * A fault-injecting stand-in for S3's presigned-URL protocol: PutObject, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload, DeleteObject and ListMultipartUploads,
 * on 127.0.0.1 port 0. URLs carry `X-Amz-Signature=good`; any other signature is refused
 * with 403 SignatureDoesNotMatch. For what s3rver cannot show: refusals, 5xx, stalls, aborts.
 */
export async function startS3Stub(): Promise<S3Stub> {
  const objects = new Map<string, Buffer>();
  const open = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  const aborted: string[] = [];
  const requests: StubRequest[] = [];
  const state = { fault: (() => undefined) as S3Stub['fault'], inFlight: 0, maxInFlight: 0 };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://stub');
    const key = decodeURIComponent(url.pathname.slice('/bucket/'.length));
    const uploadId = url.searchParams.get('uploadId');
    const kind =
      req.method === 'GET' ? 'list' : req.method === 'PUT' ? (uploadId ? 'part' : 'object') : req.method === 'POST' ? 'complete' : uploadId ? 'abort' : 'delete';
    const partNumber = url.searchParams.has('partNumber') ? Number(url.searchParams.get('partNumber')) : undefined;
    const seen: StubRequest = { method: req.method!, key, kind, partNumber };
    requests.push(seen);
    if (kind === 'part') {
      state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
      res.once('close', () => state.inFlight--);
    }
    const error = (status: number, code: string) => {
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><Error><Code>${code}</Code></Error>`);
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    if (kind !== 'list' && url.searchParams.get('X-Amz-Signature') !== 'good') return void req.on('end', () => error(403, 'SignatureDoesNotMatch'));
    const fault = state.fault(seen);
    if (fault === 'early' || fault === 'early-no-etag') {
      // Storage that answers before it has the whole body: it keeps what it got, and reads no more.
      let got = 0;
      req.on('data', (c: Buffer) => {
        got += c.length;
        if (got < EARLY_AFTER || res.headersSent) return;
        req.pause();
        const partial = Buffer.concat(chunks);
        if (kind === 'object') objects.set(key, partial);
        else open.get(uploadId!)?.parts.set(partNumber!, partial);
        res.writeHead(200, fault === 'early' ? { etag: md5(partial) } : {}).end();
      });
      return;
    }
    if (fault === 'stall') return; // never answers; the client's timeout must cut it
    if (fault === 'reset') return void req.socket.destroy();
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (fault === 'forbidden') return error(403, 'AccessDenied');
      if (fault === 'unavailable') return error(503, 'SlowDown');
      if (kind === 'list') {
        const items = [...open].map(([id, u]) => `<Upload><Key>${u.key}</Key><UploadId>${id}</UploadId></Upload>`).join('');
        return void res.writeHead(200, { 'content-type': 'application/xml' }).end(`<ListMultipartUploadsResult>${items}</ListMultipartUploadsResult>`);
      }
      if (kind === 'object') {
        objects.set(key, body);
        return void res.writeHead(200, { etag: fault === 'wrong-etag' ? md5(Buffer.from('other')) : md5(body) }).end();
      }
      if (kind === 'delete') {
        objects.delete(key);
        return void res.writeHead(204).end();
      }
      const upload = open.get(uploadId!);
      if (!upload) return error(404, 'NoSuchUpload');
      if (kind === 'part') {
        upload.parts.set(partNumber!, body);
        return void res.writeHead(200, { etag: md5(body) }).end();
      }
      if (kind === 'abort') {
        open.delete(uploadId!);
        aborted.push(uploadId!);
        return void res.writeHead(204).end();
      }
      if (fault === 'error-in-200') return void res.writeHead(200).end('<?xml version="1.0"?><Error><Code>InternalError</Code></Error>');
      const listed = [...body.toString().matchAll(/<PartNumber>(\d+)<\/PartNumber><ETag>([^<]*)<\/ETag>/g)];
      const parts = listed.map(([, n, etag]) => {
        const part = upload.parts.get(Number(n));
        return part && md5(part) === etag ? part : undefined;
      });
      if (parts.length === 0 || parts.some((p) => p === undefined)) return error(400, 'InvalidPart');
      objects.set(upload.key, Buffer.concat(parts as Buffer[]));
      open.delete(uploadId!);
      res.writeHead(200, { 'content-type': 'application/xml' }).end('<CompleteMultipartUploadResult/>');
    });
  });
  const running = await listen(server);
  const base = `${running.url}/bucket`;
  const signed = (key: string, query: string, signature = 'good') => `${base}/${encodeURIComponent(key)}?${query}${query ? '&' : ''}X-Amz-Signature=${signature}`;
  return {
    ...running,
    objects,
    open,
    aborted,
    requests,
    get maxPartsInFlight() {
      return state.maxInFlight;
    },
    get fault() {
      return state.fault;
    },
    set fault(f) {
      state.fault = f;
    },
    multipart(key, partSize, parts) {
      const id = randomBytes(8).toString('hex');
      open.set(id, { key, parts: new Map() });
      return {
        remote: {
          id: key,
          deleteUrl: signed(key, ''),
          multipart: {
            partSize,
            partUrls: Array.from({ length: parts }, (_, i) => signed(key, `partNumber=${i + 1}&uploadId=${id}`)),
            completeUrl: signed(key, `uploadId=${id}`),
            abortUrl: signed(key, `uploadId=${id}`),
          },
        },
      };
    },
    put: (key, signature) => ({ remote: { id: key, putUrl: signed(key, '', signature), deleteUrl: signed(key, '') } }),
    listUploads: async () => {
      const res = await fetch(`${base}?uploads`);
      return res.text();
    },
  } as S3Stub;
}
