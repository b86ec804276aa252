export declare const MALLOC_ENV: Record<string, string>;
export declare function hostEnv(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
