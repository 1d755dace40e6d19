import denoConfig from "../../deno.json" with { type: "json" };

/**
 * The product version, read once from deno.json for the app layer (entry points, CLI, shell).
 * Library code does not import this: it takes names and versions as options.
 */
export const VERSION: string = denoConfig.version;

/** The name and version the fileshare CLI and shell send in the handshake. */
export const CLIENT_NAME = `fileshare-client/${VERSION}`;

/** The name and version the fileshare server sends in the handshake. */
export const SERVER_NAME = `fileshare/${VERSION}`;
