/**
 * True when `test` holds for some string anywhere in `value`: a string value, an array
 * element or an object key or value, at any depth. Iterative, so nesting however deep
 * cannot overflow the stack.
 */
export function someText(value: unknown, test: (text: string) => boolean): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === "string") {
      if (test(item)) return true;
    } else if (Array.isArray(item)) {
      for (const element of item) pending.push(element);
    } else if (item !== null && typeof item === "object") {
      for (const [key, field] of Object.entries(item)) {
        if (test(key)) return true;
        pending.push(field);
      }
    }
  }
  return false;
}
