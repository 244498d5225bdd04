import { isLiteralSecret, secretNameKind } from "./secret_names.ts";

/**
 * Where common tools take a secret on the command line. Flags mean different things to
 * different tools: `-p` is a port to ssh, a prompt to `mysql -p db`, a password to
 * `docker login -p` and `sshpass -p`, and a password only when attached in `mysql -pX`.
 * @module
 */
export interface ToolRule {
  /** Flags whose value (the next word, or attached to a one-letter flag) is a secret. */
  secret?: readonly string[];
  /** Flags taking `user:password` (or `user%password`): a secret when the password is there. */
  credentials?: readonly string[];
  /** One-letter flags that also take their value attached (`-pSECRET`, `-uuser:pass`). */
  attached?: readonly string[];
  /** Flags whose value, attached or not, names a secret kept elsewhere: never examined. */
  plain?: readonly string[];
  /** Flags whose value is optional and only attached (`--password=X`); alone they prompt. */
  optional?: readonly string[];
  /** Other shapes, such as positional arguments; `args` are the words after the tool. */
  check?: (args: readonly string[]) => boolean;
  /** True when, with these arguments, the tool reads a secret from standard input. */
  readsSecret?: (args: readonly string[]) => boolean;
}

// `-p` alone and `--password` without `=` prompt: only the attached form carries a secret.
const MYSQL: ToolRule = { attached: ["-p"], optional: ["-p", "--password"] };
const MONGO: ToolRule = { secret: ["-p", "--password"], attached: ["-p"] };
// `--password-stdin` is read for every tool (command_secrets.ts).
const LOGIN: ToolRule = { secret: ["-p", "--password"] };
const CONTAINERS: ToolRule = { plain: ["--secret", "-u", "--user"] };
const GCLOUD: ToolRule = { plain: ["--secret", "--set-secrets", "--update-secrets"] };
const ARCHIVE_ATTACHED: ToolRule = { attached: ["-p"] };
const LDAP: ToolRule = { secret: ["-w"] };
const SMB: ToolRule = { credentials: ["-U", "--user"] };

/** Rules by tool name, or by `tool subcommand` where the subcommand changes the flags. */
export const TOOL_RULES: ReadonlyMap<string, ToolRule> = new Map<string, ToolRule>([
  ...names(
    "mysql mariadb mysqldump mysqladmin mysqlimport mysqlcheck mysqlshow mysqlpump " +
      "mysqlbinlog mysqlsh mariadb-dump mariadb-admin",
    MYSQL,
  ),
  ...names(
    "mongo mongosh mongodump mongorestore mongoexport mongoimport mongostat mongotop mongofiles",
    MONGO,
  ),
  ...names(
    "docker:login podman:login buildah:login nerdctl:login oras:login helm:registry " +
      "crane:auth az:login oc:login cf:login argocd:login twine:upload",
    LOGIN,
  ),
  ...names("docker podman buildah nerdctl", CONTAINERS),
  ["gcloud", GCLOUD],
  ...names("7z 7za 7zz 7zr", ARCHIVE_ATTACHED),
  // `-hp` also encrypts the file names.
  ...names("rar unrar", { attached: ["-p", "-hp"] }),
  ...names("ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami ldapcompare ldapmodrdn", LDAP),
  ...names("smbclient rpcclient smbget smbcacls", SMB),
  ...names("sqlcmd bcp osql mssql-cli", { secret: ["-P"], attached: ["-P"] }),
  ["supabase", { secret: ["-p", "--password"] }],
  ["p4", { secret: ["-P"] }],
  ...names("mosquitto_pub mosquitto_sub mosquitto_rr", { secret: ["-P", "--pw"] }),
  ...names("zip unzip zipcloak", { secret: ["-P", "--password"], attached: ["-P"] }),
  ...names("useradd usermod", { secret: ["-p", "--password"] }),
  ...names("ssh scp sftp", {}),
  ["sshpass", { secret: ["-p"], attached: ["-p"] }],
  ...names("redis-cli valkey-cli keydb-cli", {
    secret: ["-a", "--pass"],
    check: redisAuth,
    readsSecret: (args) => args.includes("--askpass"),
  }),
  ["memtier_benchmark", { secret: ["-a", "--authenticate"] }],
  ["certutil", { secret: ["-p"] }],
  ["irssi", { secret: ["-w", "--password"] }],
  // `keyring set SERVICE USER PASSWORD` (Python keyring).
  ["keyring", { check: (args) => positionalSecret(args, ["set"], 3) }],
  ["rclone obscure", { check: (args) => positionals(args).slice(1).some(isLiteralSecret) }],
  ["ldappasswd", { secret: ["-w", "-s", "-a"] }],
  ["skopeo", { credentials: ["--creds", "--src-creds", "--dest-creds"] }],
  ["curl", {
    credentials: ["-u", "--user", "-U", "--proxy-user"],
    attached: ["-u", "-U"],
    secret: ["--oauth2-bearer"],
    check: certificatePassword,
  }],
  // HTTPie and xh: `-a user:password`, or a token with `-A bearer`.
  ...names("http https xh xhs", { credentials: ["-a", "--auth"], check: bearerAuth }),
  ["openssl", {
    secret: ["-pass", "-passin", "-passout", "-password", "-k", "-K"],
    check: opensslPasswd,
  }],
  ...names("htpasswd mosquitto_passwd", { check: htpasswdBatch }),
  ["ssh-keygen", { secret: ["-N", "-P"] }],
  ["doctl", { secret: ["-t", "--access-token"] }],
  ["codecov", { secret: ["-t", "--token"] }],
  ["gh secret", { secret: ["-b", "--body"], attached: ["-b"] }],
  ["gh auth", { readsSecret: (args) => args.includes("--with-token") }],
  ["docker secret", { readsSecret: (args) => args.includes("-") }],
  ["sudo", { readsSecret: (args) => args.includes("-S") || args.includes("--stdin") }],
  ["chpasswd", { readsSecret: () => true }],
  ["passwd", { readsSecret: (args) => args.includes("--stdin") }],
  ["smbpasswd", { readsSecret: (args) => args.includes("-s") }],
  ["kinit", { readsSecret: () => true }],
  ["mkpasswd", { check: (args) => positionals(args).some(isLiteralSecret) }],
  ["ansible-vault", { check: encryptString }],
  ...names("ConvertTo-SecureString convertto-securestring", {
    check: plainTextSecureString,
    readsSecret: (args) => args.some((arg) => /^-asplaintext$/i.test(arg)),
  }),
  // macOS keychains: `-w` a stored password, `-p` a keychain's, `-P` an imported file's.
  ["security", { secret: ["-w", "-p", "-P"] }],
  ...names(
    "snmpwalk snmpbulkwalk snmpget snmpgetnext snmpbulkget snmpset snmptable snmptrap snmpinform",
    { secret: ["-A", "-X"] },
  ),
  ["sendemail", { secret: ["-xp"] }],
  ["lftp", { credentials: ["-u", "--user"] }],
  ["kubectl create", { check: literalSecretData }],
  ["oc create", { check: literalSecretData }],
  ["fly secrets", { check: anyLiteralAssignment }],
  ["flyctl secrets", { check: anyLiteralAssignment }],
  ["doppler secrets", { check: anyLiteralAssignment }],
  ["rabbitmqctl", { check: (args) => positionalSecret(args, ["add_user", "change_password"], 2) }],
  ["cf auth", { check: (args) => positionalSecret(args, ["auth"], 2) }],
  ["mc", {
    check: (args) => positionalSecret(args, ["alias"], 5) || positionalSecret(args, ["admin"], 5),
  }],
  ["ab", { credentials: ["-A", "-P"] }],
  ["influx", { secret: ["-t", "--token"] }],
  ["qpdf", {
    check: (args) =>
      args.includes("--encrypt") && isLiteralSecret(args[args.indexOf("--encrypt") + 1]),
  }],
  ["age", { readsSecret: (args) => args.includes("-p") || args.includes("--passphrase") }],
  ["cryptsetup", { readsSecret: () => true }],
  ["wpa_passphrase", { check: (args) => isLiteralSecret(positionals(args)[1] ?? "") }],
  ["nmcli", { check: nmcliPassword }],
  ...names("sqlplus sqlldr expdp impdp rman dgmgrl", { check: oracleLogin }),
  ["isql", { check: (args) => isLiteralSecret(args.filter((a) => !a.startsWith("-"))[2] ?? "") }],
  ["expect", { check: expectSendsPassword }],
  ...names("poetry:config composer:config", { check: httpBasicAuth }),
  // `bundle config [set] [--global] HOST USER:PASSWORD`.
  ["bundle config", {
    check: (args) =>
      /^[\w.-]+:(?!\/\/)(.+)$/.test(positionals(args).at(-1) ?? "") &&
      isLiteralSecret(positionals(args).at(-1)!.replace(/^[^:]*:/, "")),
  }],
  // `reg add KEY /v Password /t REG_SZ /d X`: a value named as a secret, and its data.
  ["reg", { check: registryValue }],
  ["net use", { check: windowsUserPassword }],
  ["net user", { check: (args) => positionalSecret(args, ["user"], 2) }],
  ...names("xfreerdp wlfreerdp sdl-freerdp", {
    check: (args) => args.some((a) => a.startsWith("/p:") && isLiteralSecret(a.slice(3))),
  }),
  ...names("npm:adduser npm:login", { readsSecret: () => true }),
]);

/** Tools with rules of their own for some subcommands (`docker login`). */
export const SUBCOMMAND_TOOLS: ReadonlySet<string> = new Set(
  [...TOOL_RULES.keys()].flatMap((key) => key.includes(" ") ? [key.split(" ")[0]] : []),
);

function names(list: string, rule: ToolRule): [string, ToolRule][] {
  return list.split(/\s+/).map((name) => [name.replace(":", " "), rule]);
}

/** Arguments that are not flags, nor values of flags given as separate words. */
function positionals(args: readonly string[]): string[] {
  return args.filter((arg, i) => !arg.startsWith("-") && !/^-[a-zA-Z]$/.test(args[i - 1] ?? ""));
}

/** The `index`-th positional is a secret when the first is one of `subcommands`. */
function positionalSecret(
  args: readonly string[],
  subcommands: readonly string[],
  index: number,
): boolean {
  const list = positionals(args);
  return subcommands.includes(list[0]) && isLiteralSecret(list[index] ?? "");
}

/** `curl --cert client.pem:PASSWORD`: a client certificate's passphrase after its file. */
function certificatePassword(args: readonly string[]): boolean {
  return args.some((arg, i) => {
    if (arg !== "--cert" && arg !== "-E") return false;
    const value = args[i + 1] ?? "";
    // `C:\certs\a.pem` has a colon of its own, after a drive letter.
    const colon = value.indexOf(":", /^[A-Za-z]:\\/.test(value) ? 2 : 0);
    return colon > 0 && isLiteralSecret(value.slice(colon + 1));
  });
}

/** `http -A bearer -a TOKEN URL`: with a bearer scheme, `-a` is the token itself. */
function bearerAuth(args: readonly string[]): boolean {
  const scheme = args.findIndex((arg) => arg === "-A" || arg === "--auth-type");
  if (scheme < 0 || args[scheme + 1] !== "bearer") return false;
  const auth = args.findIndex((arg) => arg === "-a" || arg === "--auth");
  return auth >= 0 && isLiteralSecret(args[auth + 1] ?? "");
}

/** `reg add KEY /v Password /d X`. */
function registryValue(args: readonly string[]): boolean {
  const name = args.findIndex((arg) => /^\/v$/i.test(arg));
  const data = args.findIndex((arg) => /^\/d$/i.test(arg));
  return name >= 0 && data >= 0 && secretNameKind(args[name + 1] ?? "") === "strong" &&
    isLiteralSecret(args[data + 1] ?? "");
}

/** `redis-cli AUTH [user] password`. */
function redisAuth(args: readonly string[]): boolean {
  const i = args.findIndex((arg) => arg.toLowerCase() === "auth");
  return i >= 0 && isLiteralSecret(args.at(-1)!) && i < args.length - 1;
}

/** `openssl passwd [-6] [-salt S] PASSWORD`. */
function opensslPasswd(args: readonly string[]): boolean {
  if (args[0] !== "passwd") return false;
  const rest = args.slice(1).filter((arg, i, all) =>
    !arg.startsWith("-") && !["-salt", "-in"].includes(all[i - 1])
  );
  return rest.some(isLiteralSecret);
}

/** `htpasswd -b[c] FILE USER PASSWORD` or `htpasswd -nb USER PASSWORD`. */
function htpasswdBatch(args: readonly string[]): boolean {
  const flags = args.filter((arg) => /^-[a-zA-Z]+$/.test(arg)).join("");
  if (!flags.includes("b")) return false;
  const list = args.filter((arg) => !arg.startsWith("-"));
  return list.length >= (flags.includes("n") ? 2 : 3) && isLiteralSecret(list.at(-1)!);
}

/** `kubectl create secret … --from-literal=KEY=VALUE`: every literal value is secret data. */
function literalSecretData(args: readonly string[]): boolean {
  return args.includes("secret") && args.some((arg) => {
    const match = /^--from-literal=[^=]*=(.*)$/.exec(arg);
    return match !== null && isLiteralSecret(match[1]);
  });
}

/** `fly secrets set KEY=VALUE …`, `doppler secrets set KEY VALUE`. */
function anyLiteralAssignment(args: readonly string[]): boolean {
  if (args[0] !== "set") return false;
  const rest = args.slice(1).filter((arg) => !arg.startsWith("-"));
  return rest.some((arg, i) => {
    const eq = arg.indexOf("=");
    return eq > 0 ? isLiteralSecret(arg.slice(eq + 1)) : i % 2 === 1 && isLiteralSecret(arg);
  });
}

/** `sqlplus scott/tiger@//host/db`, `expdp system/secret …`. */
function oracleLogin(args: readonly string[]): boolean {
  return args.some((arg) => {
    const match = /^[\w$#]+\/([^@/\s]+)(?:@|$)/.exec(arg);
    return match !== null && isLiteralSecret(match[1]);
  });
}

/** `poetry config http-basic.REPO USER PASSWORD`, and Composer's alike. */
function httpBasicAuth(args: readonly string[]): boolean {
  const i = args.findIndex((arg) => arg.startsWith("http-basic."));
  return i >= 0 && isLiteralSecret(args[i + 2] ?? "");
}

/** `net use Z: \\host\share PASSWORD /user:NAME`, or the password after `/user:NAME`. */
function windowsUserPassword(args: readonly string[]): boolean {
  const share = args.findIndex((arg) => arg.startsWith("\\"));
  const user = args.findIndex((arg) => /^\/user:/i.test(arg));
  return share >= 0 && isLiteralSecret(args[share + 1] ?? "") ||
    user >= 0 && isLiteralSecret(args[user + 1] ?? "");
}

/** `ansible-vault encrypt_string 'SECRET' --name x`: the string is what gets encrypted. */
function encryptString(args: readonly string[]): boolean {
  if (args[0] !== "encrypt_string") return false;
  return args.slice(1).some((arg, i, rest) =>
    !arg.startsWith("-") && !VAULT_VALUE_FLAGS.has(rest[i - 1]) && isLiteralSecret(arg)
  );
}

const VAULT_VALUE_FLAGS: ReadonlySet<string | undefined> = new Set([
  "-n",
  "--name",
  "--vault-id",
  "--encrypt-vault-id",
  "--vault-password-file",
  "--output",
  "--stdin-name",
]);

/** `ConvertTo-SecureString 'X' -AsPlainText -Force`: a literal made into a credential. */
function plainTextSecureString(args: readonly string[]): boolean {
  if (!args.some((arg) => /^-asplaintext$/i.test(arg))) return false;
  return args.some((arg, i) =>
    !arg.startsWith("-") && !/^-(?:secure)?key$/i.test(args[i - 1] ?? "") && isLiteralSecret(arg)
  );
}

/** `expect -c '… expect "password:"; send "hunter2\r"'`: the answer to a password prompt. */
function expectSendsPassword(args: readonly string[]): boolean {
  return args.some((arg) => {
    const answer = /(?:assword|assphrase)[^;\n]*[;\n]\s*send\s+"([^"]*?)(?:\\r|\\n)?"/i.exec(arg);
    return answer !== null && isLiteralSecret(answer[1]);
  });
}

/** `nmcli dev wifi connect SSID password PSK`, `nmcli con modify X wifi-sec.psk PSK`. */
function nmcliPassword(args: readonly string[]): boolean {
  return args.some((arg, i) =>
    /^(?:password|wifi-sec\.psk|802-1x\.password)$/.test(arg) && isLiteralSecret(args[i + 1] ?? "")
  );
}
