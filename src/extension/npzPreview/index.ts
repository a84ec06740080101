// Registration of the NPZ preview (custom editor + its two commands) and the API it adds to WorkbenchApi.
import type * as vscode from 'vscode';
import type { CommandContext, JobArg } from '../commands';
import { openNpzPreviewCommand, previewTrainingDataCommand, type NpzPreviewArg } from './commands';
import { NPZ_PREVIEW_VIEW_TYPE, NpzPreviewProvider } from './provider';

export { NPZ_PREVIEW_VIEW_TYPE, NpzPreviewProvider } from './provider';
export type { NpzEditor, NpzDocument, RenderRecord } from './provider';

export interface NpzPreviewApi {
  viewType: string;
  /** Open editors, their message channels and renders (tests, benchmarks, other extensions). */
  provider: NpzPreviewProvider;
}

type Register = <A extends unknown[], R>(id: string, fn: (...args: A) => Promise<R>) => void;

/** Registers the provider and the commands ptychoStudy.openNpzPreview and ptychoStudy.previewTrainingData. */
export function registerNpzPreview(context: vscode.ExtensionContext, ctx: CommandContext, register: Register): NpzPreviewApi {
  const provider = NpzPreviewProvider.register(context, ctx.log);
  register('ptychoStudy.openNpzPreview', (arg?: NpzPreviewArg) => openNpzPreviewCommand(ctx, arg));
  register('ptychoStudy.previewTrainingData', (arg?: JobArg) => previewTrainingDataCommand(ctx, arg));
  return { viewType: NPZ_PREVIEW_VIEW_TYPE, provider };
}
