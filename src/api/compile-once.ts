/**
 * A schema compiler that compiles each distinct schema once: fastify asks for one validator or
 * serializer per route, part and status, and most of those schemas are equal (every route declares
 * the same error body for eight statuses; many share their path parameters). What is compiled is a
 * pure function of the schema's JSON, so routes with equal schemas share it.
 */
export function compiledOncePerSchema<Compiled>(compile: (schema: object) => Compiled): (schema: object) => Compiled {
  const compiled = new Map<string, Compiled>();
  return (schema) => {
    const text = JSON.stringify(schema);
    let found = compiled.get(text);
    if (found === undefined) {
      found = compile(schema);
      compiled.set(text, found);
    }
    return found;
  };
}
