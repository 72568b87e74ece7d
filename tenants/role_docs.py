"""Text shared by the OpenAPI descriptions and docs/tenancy.md (keep them in step)."""

ROLE_TABLE = """
| action | owner | admin | member |
|---|---|---|---|
| list the team, see a teammate (`GET /users`, `GET /users/{id}`) | yes | yes | yes |
| read the company (`GET /customers/me`) | yes | yes | yes |
| change the company, settings, allowedIps (`PATCH /customers/me`) | yes | yes | no |
| invite a member or an admin (`POST /users`) | yes | yes | no |
| invite an owner | yes | no | no |
| change the role of a member or an admin, to member or admin (`PATCH /users/{id}`) | yes | yes | no |
| promote anyone to owner | yes | no | no |
| change the role of an owner | yes | no | no |
| remove a member or an admin (`DELETE /users/{id}`) | yes | yes | no |
| remove an owner | yes | no | no |
| change your own role, remove yourself | no | no | no |
| demote or remove the last active owner | no | no | no |

`platform_admin` is never a tenant role: it cannot be invited or granted (400), and
platform admins have no customer (tenant endpoints answer 403 "Please complete
onboarding to access this resource").
"""

ROLE_ERRORS = """
Refusals, each in the error envelope with nothing changed:
- a member calling a manager action: 403 "You do not have permission to access this resource";
- an admin inviting or promoting an owner: 403 "Only an owner can grant the owner role";
- an admin changing or removing an owner: 403 "Admins cannot change or remove an owner";
- your own role: 403 "You cannot change your own role";
- yourself: 403 "You cannot remove yourself from the organization";
- the last active owner: 409 "The last owner of the organization cannot be demoted" / "... cannot be removed";
- a role other than owner, admin, member: 400 on `role`, "Role must be one of: owner, admin, member";
- another tenant's user, a removed user, or an unknown id: 404 "User with ID {id} does not exist";
- a malformed id: 404 "Resource not found!!".
"""
