/** The CLI's exit codes: 0 ok, 1 runtime failure, 2 usage or config error (a bad flag, file or name). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
