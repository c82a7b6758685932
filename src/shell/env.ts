/**
 * The child's whole environment. Nothing is inherited from the client or
 * from sshd: every variable a pager, editor, dynamic loader or shell startup
 * file would honour is simply absent, and the ones below switch pagers off.
 */
export const CHILD_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/',
  TERM: 'dumb',
  PAGER: 'cat',
  SYSTEMD_PAGER: 'cat',
  SYSTEMD_PAGERSECURE: '1',
  SYSTEMD_COLORS: '0',
  LESSSECURE: '1',
  GIT_PAGER: 'cat',
  MANPAGER: 'cat',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
});
