/* net: getaddrinfo and getpwuid go through NSS (/etc/nsswitch.conf, libnss_*.so loaded at run time). */
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "localhost";
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "getaddrinfo %s: %s\n", host, gai_strerror(rc));
        return 1;
    }
    freeaddrinfo(res);
    struct passwd *pw = getpwuid(getuid());
    printf("resolved %s; user %s\n", host, pw ? pw->pw_name : "?");
    return 0;
}
