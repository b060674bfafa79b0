/** What a load generator reports, whichever it is. */
export interface ThroughputResult {
  /** completed responses */
  requests: number;
  /** bytes received, headers included, partial responses included */
  bytes: number;
  seconds: number;
  /** connect/read/write errors, timeouts and non-2xx responses */
  errors: number;
}

export interface LatencyResult {
  p50Ms: number;
  p99Ms: number;
  /** achieved requests per second */
  rate: number;
  errors: number;
}

export interface LoadGenerator {
  /** printed in the results, e.g. "wrk 4.1.0" */
  name: string;
  /**
   * closed loop: `connections` keep-alive connections as fast as they go, for about
   * `seconds`. `bulk`: responses so large that few complete within the run.
   */
  throughput(url: string, connections: number, seconds: number, bulk?: boolean): Promise<ThroughputResult>;
  /** a fixed request rate spread over `connections` connections */
  latency(url: string, rate: number, connections: number, seconds: number): Promise<LatencyResult>;
  /** which tool measured latency, when it is not the generator itself */
  latencyTool: string;
}
