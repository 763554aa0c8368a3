/* SPDX-License-Identifier: MIT */
/* The authorisation rules (see api_internal.h and docs/internals/auth.md). */
#include <string.h>

#include "api/api_internal.h"
#include "core/banned.h"

static int is_owner(const struct api_caller *c, const char *owner_id)
{
    return c->role != AUTH_ROLE_NONE && c->user_id[0] && owner_id && owner_id[0] &&
           strcmp(c->user_id, owner_id) == 0;
}

int access_can_view(const struct api_caller *c, const char *owner_id, const char *visibility)
{
    if (c->role == AUTH_ROLE_ADMIN || is_owner(c, owner_id))
        return 1;
    return visibility &&
           (strcmp(visibility, MEDIA_PUBLIC) == 0 || strcmp(visibility, MEDIA_UNLISTED) == 0);
}

int access_is_listed(const struct api_caller *c, const char *owner_id, const char *visibility)
{
    if (c->role == AUTH_ROLE_ADMIN || is_owner(c, owner_id))
        return 1;
    return visibility && strcmp(visibility, MEDIA_PUBLIC) == 0;
}

int access_can_change(const struct api_caller *c, const char *owner_id)
{
    return c->role == AUTH_ROLE_ADMIN || is_owner(c, owner_id);
}

unsigned access_change_status(const struct api_caller *c, const char *owner_id)
{
    if (access_can_change(c, owner_id))
        return 0;
    return c->role == AUTH_ROLE_NONE ? 401 : 403;
}

unsigned access_upload_status(const struct api_caller *c)
{
    if (c->role == AUTH_ROLE_NONE)
        return 401;
    return c->role >= AUTH_ROLE_CREATOR ? 0 : 403;
}
