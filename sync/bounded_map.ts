/**
 * A Map that forgets its oldest entry (the first set) once it holds `limit`, so whatever its
 * callers add, hostile inputs included, cannot grow it past that.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}
