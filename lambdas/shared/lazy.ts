/** `build` run on the first call and its value kept for every later one (a throw keeps nothing). */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

/**
 * An object whose every property is built by its builder on first read and kept: what a function
 * never reads is never built.
 */
export function lazily<T extends object>(builders: { readonly [K in keyof T]: () => T[K] }): T {
  const target = {} as T;
  for (const key of Object.keys(builders) as Array<keyof T & string>) {
    Object.defineProperty(target, key, { get: once(builders[key]), enumerable: true });
  }
  return target;
}
