// WebAssembly text imported as its compiled bytes (esbuild.mjs's wat plugin), and the few WebAssembly JS API types
// the kernel uses (Node has the API; the ES2022 lib the project compiles against does not declare it).
declare module '*.wat' {
  const bytes: Uint8Array;
  export default bytes;
}

declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(pages: number): number;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
