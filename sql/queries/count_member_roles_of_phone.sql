-- How many teams have phone $1 as a member, and how many numbers are dedicated to it, in any community: a phone
-- that is either may not become one of our numbers (what we send it would come back in as a text).
SELECT (SELECT count(*) FROM team_members WHERE phone = $1)
     + (SELECT count(*) FROM community_numbers WHERE member_phone = $1) AS roles
