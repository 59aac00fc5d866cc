/// <reference types="vite/client" />
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const c: DefineComponent<object, object, unknown>;
  export default c;
}
interface Window {
  __SEG_BOOT?: {
    session: string;
    lang: string;
    userId: number;
    isAdmin: boolean;
    placement: string;
    placementOptions: Record<string, unknown>;
    portalOrigin: string;
  };
  __segState?: Record<string, unknown>;
}
