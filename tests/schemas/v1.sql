-- billmgr schema version 1, written by tests/schemas/snapshot.py
BEGIN TRANSACTION;
CREATE TABLE "account" (
   "id" INTEGER PRIMARY KEY,
   "name" TEXT NOT NULL,
   "email" TEXT NOT NULL,
   "realname" TEXT DEFAULT '',
   "project" INTEGER NOT NULL REFERENCES "project"("id"),
   "country" INTEGER,
   "state" INTEGER,
   "note" TEXT DEFAULT '',
   "label" TEXT DEFAULT '',
   "valid_phone" TEXT DEFAULT '',
   "try_phone" TEXT DEFAULT '',
   "verify_email" INTEGER NOT NULL DEFAULT 0,
   "selfview" TEXT DEFAULT '',
   "settingurl" TEXT DEFAULT '',
   "attitude" INTEGER,
   "employee" INTEGER,
   "nocalcstat" INTEGER NOT NULL DEFAULT 0,
   "products_page" INTEGER,
   "registration_date" TEXT NOT NULL,
   "registration_ip" TEXT DEFAULT '',
   "status" INTEGER NOT NULL DEFAULT 2
);
INSERT INTO "account" VALUES(1,'Alice Liddell','alice@example.com','Alice Liddell',1,NULL,NULL,'','','','',0,'','',NULL,NULL,0,NULL,'2026-11-23 04:39:27','',2);
INSERT INTO "account" VALUES(2,'Боб Иванов','bob@example.com','',1,643,NULL,'switched to card','vip','','',0,'','',NULL,NULL,0,NULL,'2026-11-23 04:39:27','',2);
INSERT INTO "account" VALUES(3,'carol@example.com','carol@example.com','',1,NULL,NULL,'','','','',1,'','',NULL,NULL,1,NULL,'2026-11-23 04:39:28','192.0.2.7',2);
CREATE TABLE "outbox" (
   "id" INTEGER PRIMARY KEY,
   "created" TEXT NOT NULL,
   "kind" TEXT NOT NULL,
   "payload" TEXT NOT NULL,
   "state" TEXT NOT NULL DEFAULT 'pending',
   "attempts" INTEGER NOT NULL DEFAULT 0,
   "last_error" TEXT DEFAULT ''
);
INSERT INTO "outbox" VALUES(1,'2026-11-23 04:39:28','mail','{"template": "registration", "account": 3, "recovery": true}','pending',0,'');
CREATE TABLE "project" (
   "id" INTEGER PRIMARY KEY,
   "name" TEXT NOT NULL,
   "status" INTEGER NOT NULL DEFAULT 2
);
INSERT INTO "project" VALUES(1,'Default provider',2);
CREATE TABLE "user" (
   "id" INTEGER PRIMARY KEY,
   "account" INTEGER REFERENCES "account"("id"),
   "name" TEXT NOT NULL,
   "passwd" TEXT DEFAULT '',
   "level" TEXT NOT NULL,
   "realname" TEXT DEFAULT '',
   "email" TEXT DEFAULT '',
   "enabled" INTEGER NOT NULL DEFAULT 1
);
INSERT INTO "user" VALUES(1,1,'alice@example.com','scrypt$16384$8$1$Famg1dW4bKgKF0yRRuxE1w==$Hrg4vC04eCIk7GTni0GW5vWm4G0+t+IZoRks0WtWBb/r1T1poMscFi0eEp5dz7WakNCpEceC/Fx4jl7i7PHodg==','user','','alice@example.com',1);
INSERT INTO "user" VALUES(2,2,'bob@example.com','','user','','bob@example.com',1);
INSERT INTO "user" VALUES(3,3,'carol@example.com','','user','','carol@example.com',1);
CREATE UNIQUE INDEX "idx_project_name"
    ON "project" ("name");
CREATE UNIQUE INDEX account_email ON account (email COLLATE NOCASE);
CREATE INDEX "idx_account_name"
    ON "account" ("name");
CREATE UNIQUE INDEX user_name ON "user" (name COLLATE NOCASE);
CREATE INDEX "idx_user_account"
    ON "user" ("account");
COMMIT;
PRAGMA user_version = 1;
