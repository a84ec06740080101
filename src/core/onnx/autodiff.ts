// Reverse-mode differentiation over the tape, and the Adam update emitted into the same graph, so one
// onnxruntime `run` computes forward, backward and the optimiser step (onnxruntime-node has no training API).
import { Graph, sizeOf, type Value } from './graph';
import { shapeStr } from './graph';
import { sumAll } from './ops';

/**
 * Emits the gradient of the scalar `loss` with respect to each value of `wrt` (parameters). Walks the tape
 * backwards; a record is expanded only when one of its outputs received a gradient, and contributions to a
 * value from several uses are summed. A parameter the loss does not depend on gets a zero gradient.
 */
export function gradients(loss: Value, wrt: readonly Value[]): Value[] {
  if (loss.size !== 1) throw new Error(`gradients: the loss must be a scalar (got ${shapeStr(loss.shape)})`);
  const g = loss.graph;
  return g.untaped(() => {
    const contributions = new Map<Value, Value[]>();
    contributions.set(loss, [g.constant(1, loss.shape, 'grad_seed')]);
    const total = (v: Value): Value | undefined => {
      const c = contributions.get(v);
      if (!c) return undefined;
      const s = sumAll(c);
      contributions.set(v, [s]);
      return s;
    };
    for (let i = g.tape.length - 1; i >= 0; i--) {
      const rec = g.tape[i];
      const outGrads = rec.outputs.map(total);
      if (outGrads.every((x) => x === undefined)) continue;
      const inGrads = rec.backward(outGrads);
      rec.inputs.forEach((input, k) => {
        const gi = inGrads[k];
        if (!gi || !input.requiresGrad) return;
        if (gi.size !== input.size || gi.rank !== input.rank) {
          throw new Error(`gradients: ${rec.op} gave a ${shapeStr(gi.shape)} gradient for ${input.name}${shapeStr(input.shape)}`);
        }
        const list = contributions.get(input);
        if (list) list.push(gi);
        else contributions.set(input, [gi]);
      });
    }
    return wrt.map((p) => total(p) ?? g.constant(new Array(sizeOf(p.shape)).fill(0), p.shape, `zero_grad_${p.name}`));
  });
}

export interface AdamHyper {
  beta1: number;
  beta2: number;
  /** Keras' default epsilon (added to √v̂). */
  epsilon: number;
}

export const ADAM_DEFAULTS: Readonly<AdamHyper> = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });

/** Output names of the updated state of parameter `name`. */
export function adamOutputNames(name: string): { param: string; m: string; v: string } {
  return { param: `new_${name}`, m: `new_m_${name}`, v: `new_v_${name}` };
}

/**
 * One Adam step for a parameter, written as graph nodes: m′ = β₁m + (1−β₁)g, v′ = β₂v + (1−β₂)g²,
 * p′ = p − lr_t·m′/(√v′ + ε), with lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) computed by the caller and fed as a scalar.
 * The final nodes write the graph outputs directly (an extra Identity would cost a copy).
 */
export function adamUpdate(g: Graph, param: Value, grad: Value, m: Value, v: Value, lrT: Value, hyper: AdamHyper = ADAM_DEFAULTS): { param: Value; m: Value; v: Value } {
  return g.untaped(() => {
    const names = adamOutputNames(param.name);
    const c = (x: number): Value => g.constant(x);
    const node = (op: string, inputs: Value[], name?: string): Value =>
      g.node(op, inputs, [{ shape: param.shape }], name ? { outputNames: [name] } : {})[0];
    const m2 = node('Add', [node('Mul', [m, c(hyper.beta1)]), node('Mul', [grad, c(1 - hyper.beta1)])], names.m);
    const v2 = node('Add', [node('Mul', [v, c(hyper.beta2)]), node('Mul', [node('Mul', [grad, grad]), c(1 - hyper.beta2)])], names.v);
    const denom = node('Add', [node('Sqrt', [v2]), c(hyper.epsilon)]);
    const p2 = node('Sub', [param, node('Mul', [node('Div', [m2, denom]), lrT])], names.param);
    return { param: p2, m: m2, v: v2 };
  });
}

/** The bias-corrected step size lr_t for step t (1-based). */
export function adamStepSize(lr: number, t: number, hyper: AdamHyper = ADAM_DEFAULTS): number {
  return (lr * Math.sqrt(1 - hyper.beta2 ** t)) / (1 - hyper.beta1 ** t);
}
