/* mailsim.h — the subcommands of the mailsim binary (each in its own file). */
#ifndef MAILSIM_MAILSIM_H
#define MAILSIM_MAILSIM_H

#include <sys/socket.h>

int serve_main(int argc, char **argv);   /* main.c */
int gen_main(int argc, char **argv);     /* gen.c */
int ideal_main(int argc, char **argv);   /* ideal.c */
int load_main(int argc, char **argv);    /* load.c: SMTP and DNS load client */

/* "HOST:PORT" / "[V6]:PORT" / "HOST" (default port) -> sockaddr; 0 or -1 */
int mailsim_parse_addr(const char *s, int default_port, struct sockaddr_storage *out);

#endif
