/**
 * Disposal bookkeeping, after microsoft/vscode-extension-samples' custom-editor-sample
 * (`dispose.ts`): an object registers every disposable it creates or is handed (listener
 * subscriptions, event emitters, watchers) and releases all of them, once, when disposed.
 * No `vscode` import: anything with a `dispose()` counts.
 */
export interface DisposableLike {
  dispose(): unknown;
}

/** Disposes every item, emptying the array; one that throws does not stop the others. */
export function disposeAll(disposables: DisposableLike[]): void {
  const errors: unknown[] = [];
  while (disposables.length) {
    const d = disposables.pop();
    try {
      d?.dispose();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed to dispose');
}

export abstract class Disposable implements DisposableLike {
  private _isDisposed = false;
  protected _disposables: DisposableLike[] = [];

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this._disposables);
  }

  /** Keeps `value` until this object is disposed (disposes it at once if that already happened). */
  protected _register<T extends DisposableLike>(value: T): T {
    if (this._isDisposed) value.dispose();
    else this._disposables.push(value);
    return value;
  }

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }
}
