// Shape checks of everything an NPZ preview page may send (the host refuses anything else).
import type { NpzPreviewProtocol, SeriesParams, SliceParams, TableParams } from '../../webview/protocol';
import { check, type ProtocolValidators } from '../../webview/shared/validate';
import { commonEventValidators, saveCsvValidator, savePngValidator } from '../../webview/shared/screen';

const memberName = check.string({ maxLength: 1000, nonEmpty: true });

export const npzPreviewValidators: ProtocolValidators<NpzPreviewProtocol> = {
  hostRequests: {
    savePng: savePngValidator,
    saveCsv: saveCsvValidator,
    readSlice: check.object<SliceParams>({
      member: memberName,
      frame: check.optional(check.int({ min: 0 })),
      channel: check.optional(check.int({ min: 0 })),
    }),
    readSeries: check.object<SeriesParams>({ member: memberName, maxPoints: check.int({ min: 1, max: 1_000_000 }) }),
    readTable: check.object<TableParams>({ member: memberName, start: check.int({ min: 0 }), count: check.int({ min: 0, max: 100_000 }) }),
  },
  webviewEvents: commonEventValidators,
};
