// The study report (Phase G): what every job of a study produced, and the report folder written from it.
export { collectStudyResults, PARTS, type JobResult, type Part, type StudyResults, type StudyRoots } from './collect';
export {
  writeStudyReport, checkReportDir, csvRowsOf, csvText, deltasOf, differingKeys, regenerateCommands, ReportError, CSV_HEADER, DELTA_METRICS, NETWORK_ALONE_METHOD, REPORT_FILES, REPORT_METRICS,
  type CsvRow, type DeltaEntry, type StudyReport, type WriteStudyReportOptions,
} from './write';
export { shellQuote } from '../study/cliCommand';
