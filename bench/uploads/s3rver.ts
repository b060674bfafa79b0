// s3rver in a process of its own for the uploads bench: storage in S3_DIR, bucket `bench`;
// sends { port } over IPC once listening.
import S3rver from 's3rver';

const server = new S3rver({ port: 0, address: '127.0.0.1', directory: process.env.S3_DIR!, silent: true, configureBuckets: [{ name: 'bench', configs: [] }] });
void server.run().then((address) => process.send!({ port: (address as unknown as { port: number }).port }));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
