/**
 * Debouncing by key (one timer per model file): `trigger(key)` (re)starts the key's timer
 * and `fn(key)` runs once the key has been quiet for `ms`. Pure (no `vscode`).
 */
export class KeyedDebouncer<K> {
  private timers = new Map<K, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly ms: number,
    private readonly fn: (key: K) => void,
  ) {}

  trigger(key: K): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.fn(key);
      }, this.ms),
    );
  }

  cancel(key: K): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  pending(key: K): boolean {
    return this.timers.has(key);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
