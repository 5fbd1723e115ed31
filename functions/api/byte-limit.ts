/**
 * Passes a body through while counting its bytes; the chunk that crosses maxBytes errors the stream,
 * so whoever reads it stops there, and the source is cancelled (the client stops being read).
 */
export function limitBytes(body: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => Error): ReadableStream<Uint8Array> {
  let seen = 0;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.length;
      if (seen > maxBytes) {
        const err = tooLarge();
        await reader.cancel(err).catch(() => {});
        controller.error(err);
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
