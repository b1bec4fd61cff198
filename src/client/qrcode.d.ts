/**
 * The part of qrcode's API the projector page uses. Declared here rather than taken from
 * @types/qrcode, which pulls Node's types into the browser bundle's project: with them, code that
 * only runs in Node (process, Buffer, node:fs) would type-check in the browser (tsconfig.base.json).
 */
declare module 'qrcode' {
  interface ToStringOptions {
    type?: 'svg' | 'utf8' | 'terminal';
    margin?: number;
    errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H';
  }
  const QRCode: { toString(text: string, options?: ToStringOptions): Promise<string> };
  export default QRCode;
}
