/**
 * Small RFC 4180 CSV reader (pure: text in, records out): quoted fields with "" escapes, commas
 * and line breaks inside quotes, LF or CRLF line ends, a leading BOM. Each record carries the
 * 1-based line number where it starts, for error messages. Blank lines are skipped.
 */

export interface CsvRecord {
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export function parseCsv(text: string): CsvRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let inQuotes = false;
  let quotedField = false;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !quotedField)) out.push({ line: recordLine, fields });
    fields = [];
    field = '';
    quotedField = false;
  };
  while (i < src.length) {
    const ch = src[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      if (ch === '\n') line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      if (field !== '') throw new CsvError('a quote inside an unquoted field', line);
      inQuotes = true;
      quotedField = true;
      i++;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      quotedField = false;
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && src[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      if (quotedField) throw new CsvError('text after a closing quote', line);
      field += ch;
      i++;
    }
  }
  if (inQuotes) throw new CsvError('unterminated quoted field', recordLine);
  if (field !== '' || fields.length > 0 || quotedField) endRecord();
  return out;
}

export function csvEscape(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
