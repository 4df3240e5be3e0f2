/**
 * Work that runs after a Lambda has answered: the usage record of a buffered answer, once the
 * client has it. A buffered Lambda's environment is frozen as soon as its handler returns, unless
 * an extension holds it: the post-response extension (`extension.ts`) does, until this
 * invocation's deferred work has settled. Without the extension (not registered, not in Lambda),
 * nothing is deferred: the handler awaits its work before answering, as before.
 */

/**
 * Work that has not started: a door starts it once its answer is out, so none of its CPU (building,
 * signing and sending DynamoDB requests) or I/O runs between the provider's last byte and the
 * client's. Calling it again returns the same promise.
 */
export type Work = () => Promise<void>;

/**
 * `start` as {@link Work}: run on the first call only, its result shared by every call.
 *
 * @example
 * const record = startOnce(() => usage.record(write)); // nothing runs yet
 * await record(); // starts it; a second call awaits the same write
 */
export function startOnce(start: () => Promise<unknown>): Work {
  let started: Promise<void> | undefined;
  return () => (started ??= start().then(() => undefined));
}

/** Where a handler hands work to run after its answer; the work's failure is logged, never thrown. */
export type Defer = (work: Work) => void;

/** Settles after the current macrotask: once the answer handed back by now has been written out. */
const afterThisTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The deferred work of a process's invocations, and how many of them have ended (answered and
 * their work settled), which the extension waits for before letting Lambda end the invocation.
 * Lambda runs one invocation at a time in an environment; the local runtime runs many, so the
 * count is of ended invocations, whatever their order.
 */
export class AfterResponse {
  /** Work handed over and not yet started: it starts at {@link drain} or {@link end}. */
  private readonly queued: Work[] = [];
  private readonly pending = new Set<Promise<void>>();
  private ended = 0;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  /**
   * Holds the invocation open for `work`, which starts once the answer is out ({@link drain},
   * {@link end}). Dependency-free (the extension's preload bundle holds this class): the handler
   * side catches and logs failures before handing work here.
   */
  defer(work: Work): void {
    this.queued.push(work);
  }

  /**
   * Starts the work handed over so far and settles once all of it (including work handed over
   * meanwhile) has settled. A streaming invocation calls this after the client's last byte.
   */
  async drain(): Promise<void> {
    for (;;) {
      for (const work of this.queued.splice(0)) {
        const settled = Promise.resolve()
          .then(work)
          .then(
            () => undefined,
            () => undefined,
          );
        this.pending.add(settled);
        void settled.finally(() => this.pending.delete(settled));
      }
      if (this.pending.size === 0) return;
      await Promise.all([...this.pending]);
    }
  }

  /**
   * Marks an invocation ended once its work has drained. Called as a buffered handler returns its
   * answer, so the work starts a turn later, once the runtime has sent that answer on.
   */
  async end(): Promise<void> {
    await afterThisTurn();
    await this.drain();
    this.ended += 1;
    for (const waiter of this.waiters.splice(0)) {
      if (this.ended >= waiter.count) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  /** Settles once `count` invocations have ended. */
  endedAtLeast(count: number): Promise<void> {
    if (this.ended >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** Where the extension leaves the process's registry for the handler (a global: the extension is preloaded). */
const REGISTRY = Symbol.for('llm-gateway.after-response');

/**
 * The registry the post-response extension installed in this process, or undefined when none is
 * running (then a handler must not defer: nothing would hold the environment for the work).
 */
export function installedAfterResponse(): AfterResponse | undefined {
  return (globalThis as Record<symbol, AfterResponse | undefined>)[REGISTRY];
}

/**
 * Installs the process's registry (the extension, once registered with Lambda; the local runtime,
 * which plays the extension) and returns it; one already installed is kept.
 */
export function installAfterResponse(registry: AfterResponse): AfterResponse {
  const global = globalThis as Record<symbol, AfterResponse | undefined>;
  global[REGISTRY] ??= registry;
  return global[REGISTRY];
}

/**
 * A handler whose invocations may defer work past their answer: with a registry (the one the
 * extension installed: {@link installedAfterResponse}) its routes get `defer` (else undefined:
 * work is awaited in line), and each invocation is marked ended, for the extension, once its
 * deferred work has settled. The answer is returned without waiting for that work.
 *
 * @example
 * export const handler = withAfterResponse((defer) => createGatewayHandler(deps, defer), logFailure, installedAfterResponse());
 */
export function withAfterResponse<E, C, R>(
  handlerFor: (defer: Defer | undefined) => (event: E, context: C) => Promise<R>,
  onFailure: (error: unknown) => void,
  registry: AfterResponse | undefined,
): (event: E, context: C) => Promise<R> {
  const handler = handlerFor(registry ? (work) => registry.defer(() => work().then(undefined, onFailure)) : undefined);
  if (!registry) return handler;
  return async (event, context) => {
    try {
      return await handler(event, context);
    } finally {
      void registry.end();
    }
  };
}
