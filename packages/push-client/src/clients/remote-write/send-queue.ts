/** A FIFO of async tasks run one at a time: one per shard, so a series' requests never overtake each other. */
export class SendQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
